"""Communications: email and SMS templates, rendering, the SMS gateway, approvals."""
