"""Account provisioning helpers shared by the local and Kubernetes provisioners."""
