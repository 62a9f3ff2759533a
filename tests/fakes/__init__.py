"""Fake HTTP servers for corners a real InfluxDB cannot show (or that no binary here can run)."""
