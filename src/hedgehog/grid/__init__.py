"""The grid strategy (shipped; `--strategy grid`): fixed price levels between `lower` and
`upper`, one trader per level buying at its level and selling at the next one up."""
