"""``cagnet serve``: a local web page that segments uploaded images by class name (extra ``web``)."""
