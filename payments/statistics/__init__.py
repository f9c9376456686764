"""Payment statistics for a date range: counts, success rate, money by currency and status."""
