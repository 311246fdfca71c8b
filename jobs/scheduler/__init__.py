"""The scheduler: when definitions run (schedules, the lease, the loop, the triggers)."""
