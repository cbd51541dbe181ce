"""The papers' experiment protocols and plots."""
