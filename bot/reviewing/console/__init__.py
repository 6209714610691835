"""The reviewer's local web console: `aigaq review serve` (127.0.0.1 only)."""
