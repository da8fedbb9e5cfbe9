"""Reminders of follow-up and maintenance sessions: what is due (rules,
generate), what a message says (messages), how it goes out (delivery, sms),
the send loop (worker) and reception's call list (calls).

Nothing is imported here, so that the models may import the pure modules
(rules, messages) without a cycle.
"""
