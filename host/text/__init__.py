"""Text notations every stage reads the same way (Chinese numerals), owned by none of them."""
