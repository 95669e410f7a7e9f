"""The ``ltiaas-auth demo`` example tool: a Flask app behind ``LtiaasMiddleware``, and its runner.

``app.create_app(config)`` is the tool (Flask, from the ``demo`` extra: ``pip install 'ltiaas-auth[demo]'``);
``runner.run(...)`` starts FakeLtiaas and the tool on loopback and plays one launch. Nothing is imported
here, so ``ltiaas-auth`` can tell a missing Flask apart before touching the app.
"""
