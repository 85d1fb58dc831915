# First on PYTHONPATH in the fake v1alpha1 container: that image has no flux_restful package.
raise ImportError("No module named 'flux_restful' (this container runs the app/ layout)")
