"""What any exporter receives from a shot, in neutral terms (`contract`), how it is found (`sources`),
the camera maths every exporter shares (`camera`), and the list of exporters (`registry`).  The After
Effects export (`dreamrooms.ae`) is the first exporter."""
