#!/bin/sh
# df_ping.sh CONTAINER IFNAME TARGET: pings TARGET from CONTAINER with DF set and packets of
# exactly the MTU of the container's IFNAME (the host's iputils ping in the container's network
# namespace: busybox's ping has no -M). Seed 002's black hole: too big packets vanish silently.
set -eu
pid=$(docker inspect -f '{{.State.Pid}}' "$1")
mtu=$(docker exec "$1" cat "/sys/class/net/$2/mtu")
echo "$1 $2 mtu $mtu"
exec nsenter -t "$pid" -n ping -c3 -i0.2 -W2 -M do -s $((mtu - 28)) "$3"
