"""A stand-in for the older server's `app` package, for the v1alpha1 tests.

The Flux Operator's v1alpha1 MiniClusters cloned flux-restful-api into /flux-restful-api and ran
it from there; its account code lives in app.db.base (Base, User), app.db.session (engine,
SessionLocal on ./flux-restful.db) and app.core.security (get_password_hash, bcrypt). This
package has just those names, written for these tests with SQLAlchemy and bcrypt, and the
fake container hides the flux_restful package (see ../hide), as that image does not have it.
"""
