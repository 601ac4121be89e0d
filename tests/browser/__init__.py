"""The demo page in a real headless browser (Chromium driven by playwright-core)."""
