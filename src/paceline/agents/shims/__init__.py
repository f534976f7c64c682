"""Compatibility shims for the Pacemaker command-line tools that resource agents call back into
(crm_attribute, crm_master, attrd_updater, crm_node, crm_resource). Each module has
``main(argv) -> int``. They use only the standard library and ``paceline.agents.attrstore`` and
are started through wrapper scripts that skip the package ``__init__`` files (see
``paceline.agents.shimbin``), so a call costs one bare Python start-up."""
