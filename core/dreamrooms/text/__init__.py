"""Text from causal language models (the `text` model kind): the session with its key/value cache, sampling,
the model's own tokenizer.  `dreamrooms write` shapes what it writes into Fountain (dreamrooms.film.write)."""
