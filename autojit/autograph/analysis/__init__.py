"""Static analyses of one function: activity (reads/writes), liveness, definite assignment."""
