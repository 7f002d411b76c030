#ifndef DAYTRADER_CRABBITMQ_SHIM_H
#define DAYTRADER_CRABBITMQ_SHIM_H

#include <amqp.h>

/// Logs in with SASL PLAIN: a non-variadic front for amqp_login_with_properties, which Swift
/// cannot call (C variadic functions are not imported).
///
/// Besides rabbitmq-c's default client properties it announces the capabilities
/// `consumer_cancel_notify` (the broker sends basic.cancel when a consumed queue goes away,
/// instead of the consumer silently receiving nothing) and `connection.blocked` (the broker
/// says when a resource alarm blocks publishing), and names the connection `connection_name`
/// (shown by `rabbitmqctl list_connections name client_properties`; NULL for none).
/// All strings are only read during the call.
amqp_rpc_reply_t daytrader_amqp_login_plain(amqp_connection_state_t state, const char *vhost,
                                            int channel_max, int frame_max, int heartbeat,
                                            const char *user, const char *password,
                                            const char *connection_name);

#endif
