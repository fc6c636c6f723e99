//! How ECR's BatchDeleteImage answers each image it was asked to delete
//! (<https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_BatchDeleteImage.html>): one it
//! deleted in `imageIds`, with the tag it was named by (AWS's documented example
//! batchdeleteimages-example-1470860541707, botocore's `examples-1.json`), one it did not find
//! in `failures` (API_ImageFailure, `ImageNotFound`), never an error for either.
use serde_json::{Value, json};

/// An image deleted (or a tag removed from it), as `imageIds` lists it.
pub fn deleted(digest: &str, tag: Option<&str>) -> Value {
    let mut image = json!({ "imageDigest": digest });
    if let Some(tag) = tag {
        image["imageTag"] = json!(tag);
    }
    image
}

/// An image named by `id` that is not there, as `failures` lists it.
pub fn not_found(id: &Value) -> Value {
    json!({
        "imageId": id,
        "failureCode": "ImageNotFound",
        "failureReason": "Requested image not found",
    })
}
