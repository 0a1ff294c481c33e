"""E-mail connector: templated subject and body to addresses and/or roles."""
