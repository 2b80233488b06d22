"""The app's tabs: one view per file."""
