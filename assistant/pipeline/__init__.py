"""The question pipeline (headless): sanitize, plan, guard, retrieve, answer; no UI imports."""
