"""Safeguarding concerns, minutes and debriefs (rules A1-A9) live here; they arrive with the
minutes-and-concerns work. The app exists now so the layout is stable."""
