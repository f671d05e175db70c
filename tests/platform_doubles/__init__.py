"""Local servers that speak a platform's protocol on 127.0.0.1, for the source tests."""
