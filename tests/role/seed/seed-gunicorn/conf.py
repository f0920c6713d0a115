# The seed's conf.py (section 3.2) with its address moved to the loopback.
debug = True
bind = "127.0.0.1:18104"
workers = 2
threads = 2
timeout = 600
loglevel = 'info'
pidfile = "log/gunicorn.pid"
accesslog = "log/access.log"
errorlog = "log/debug.log"
# preload_app = True
