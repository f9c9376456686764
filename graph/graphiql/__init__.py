"""The GraphiQL page: its nonce and CSP, locally served assets, and the CDN-failure fallback."""
