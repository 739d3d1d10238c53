"""Compute service (placeholder docstring for this worktree; the merge keeps the other)."""
