// rabbitmq-c 0.11 (Debian's librabbitmq-dev) has flat headers; the rabbitmq-c/ folder only
// arrived in 0.12.
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
