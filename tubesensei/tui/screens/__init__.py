"""Screens pushed over the tabs: help, confirmations, adding a channel, a transcript."""
