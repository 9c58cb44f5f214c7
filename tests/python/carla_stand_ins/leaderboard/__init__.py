"""Stand-in for Bench2Drive's leaderboard package (tests only)."""
