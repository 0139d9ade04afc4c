"""The WSGI application (gunicorn: ``dhcpadmin.wsgi:application``).

After loading the app, the objects that live as long as the process (modules, models, the
admin, URL patterns) are moved out of the cycle collector's reach (``gc.freeze()``) and its
full collections are made rarer: a request of the server page allocates enough to start a
full collection every few requests, and walking everything Django keeps paused requests
by 50-200 ms (measured with bench/load_bench.py). Reference counting still frees almost
everything at once; cyclic garbage waits a little longer.
"""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dhcpadmin.settings")
application = get_wsgi_application()

gc.freeze()
_gen0, _gen1, _ = gc.get_threshold()
gc.set_threshold(_gen0, _gen1, 100)
