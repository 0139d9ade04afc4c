"""The pages and dialogs of dhcpadmin: one module per kind of object."""
