"""``cagnet serve``: a local web page that segments images by class name (extra ``web``)."""
