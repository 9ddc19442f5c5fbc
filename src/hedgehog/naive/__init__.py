"""The naive strategy (pure), its traders, leaders and the chapter-5 supervision tree."""
