"""The project's contracts: canonical events (SPEC §4), topics, periods, criteria."""
