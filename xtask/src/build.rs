//! `cargo xtask build`: the image, natively or in Docker, into an OCI layout.
use anyhow::Result;
use bgd_core::{config::Config, image};
use xshell::Shell;

use crate::flags;

impl flags::Build {
    pub fn run(self, json: bool) -> Result<()> {
        let sh = Shell::new()?;
        let config = Config::load()?;
        let out = self.out.unwrap_or_else(image::default_image_dir);
        let (built, _) = match self.builder {
            flags::Builder::Native => image::build_image(&sh, &config, self.build_id, &out)?,
            flags::Builder::Docker => {
                image::build_image_in_docker(&sh, &config, self.build_id, &out)?
            }
        };
        if json {
            println!("{}", serde_json::to_string_pretty(&built)?);
        } else {
            println!("image     {}", out.display());
            println!("digest    {}", built.digest);
            println!(
                "commit    {}{}",
                built.facts.git_sha,
                if built.facts.dirty { " (dirty)" } else { "" }
            );
            println!("bootstrap {} bytes", built.bootstrap_bytes);
            println!("layer     {} bytes (gzip)", built.layer_bytes);
        }
        Ok(())
    }
}
