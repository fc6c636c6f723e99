//! The build phase: the image to ship, built from this commit or read from `--image DIR`.

use anyhow::{Result, bail};

use super::{Cloud, Ctx, deploy};
use crate::image::{Built, Image, build_image};

impl<C: Cloud> Ctx<C> {
    /// The image to ship: one built earlier (`--image DIR`) or this commit, built now.
    pub async fn image(&self, options: &deploy::Options) -> Result<(Built, Image)> {
        match &options.image {
            Some(dir) => {
                let (built, image) = Built::read(dir)?;
                let (wanted, built_for) =
                    (&self.config.function.architecture, image.architecture()?);
                if built_for != wanted {
                    bail!(
                        "{} holds an image for {built_for} but deploy.toml [function] architecture = {wanted:?}: build one with `cargo xtask build`",
                        dir.display()
                    );
                }
                Ok((built, image))
            }
            None => tokio::task::block_in_place(|| {
                let sh = xshell::Shell::new()?;
                build_image(
                    &sh,
                    &self.config,
                    options.build_id.clone(),
                    &crate::image::default_image_dir(),
                )
            }),
        }
    }
}
