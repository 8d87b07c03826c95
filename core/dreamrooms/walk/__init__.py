"""Latent walks: latent math (`latent`), the generator contract at run time (`generator`) and the stage that
streams frames into a shot (`run`)."""
