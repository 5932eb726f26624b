"""A small service on Redis Cluster (redis-py): page hit counters and a
profile kept as two keys written and read together (one hash tag, one
slot: MSET and MGET are single commands)."""
import time

import redis
from redis.cluster import RedisCluster


class Service:
    def __init__(self, host, port, password):
        self.rc = RedisCluster(host=host, port=port, password=password,
                               socket_timeout=2, socket_connect_timeout=2)

    def _retry(self, fn, secs=15):
        """Through a failover: MOVED is followed by redis-py; a connection
        to a primary that went away is retried until secs pass."""
        end = time.monotonic() + secs
        while True:
            try:
                return fn()
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                    redis.exceptions.ClusterDownError, redis.exceptions.TryAgainError):
                if time.monotonic() > end:
                    raise
                time.sleep(0.2)

    def hit(self, page):
        return self._retry(lambda: self.rc.incr("hits:" + page))

    def hits(self, page):
        return int(self._retry(lambda: self.rc.get("hits:" + page)) or 0)

    def save_profile(self, user, name, email):
        return self._retry(lambda: self.rc.mset({"{user:%s}:name" % user: name,
                                                 "{user:%s}:email" % user: email}))

    def profile(self, user):
        vals = self._retry(lambda: self.rc.mget("{user:%s}:name" % user,
                                                "{user:%s}:email" % user))
        return [v.decode() if v else None for v in vals]
