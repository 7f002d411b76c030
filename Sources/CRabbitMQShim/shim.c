#include "CRabbitMQShim.h"

#include <stddef.h>

amqp_rpc_reply_t daytrader_amqp_login_plain(amqp_connection_state_t state, const char *vhost,
                                            int channel_max, int frame_max, int heartbeat,
                                            const char *user, const char *password,
                                            const char *connection_name) {
    amqp_table_entry_t capabilities[2];
    capabilities[0].key = amqp_cstring_bytes("consumer_cancel_notify");
    capabilities[0].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    capabilities[0].value.value.boolean = 1;
    capabilities[1].key = amqp_cstring_bytes("connection.blocked");
    capabilities[1].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    capabilities[1].value.value.boolean = 1;

    amqp_table_entry_t properties[2];
    int count = 0;
    properties[count].key = amqp_cstring_bytes("capabilities");
    properties[count].value.kind = AMQP_FIELD_KIND_TABLE;
    properties[count].value.value.table.num_entries = 2;
    properties[count].value.value.table.entries = capabilities;
    count++;
    if (connection_name != NULL) {
        properties[count].key = amqp_cstring_bytes("connection_name");
        properties[count].value.kind = AMQP_FIELD_KIND_UTF8;
        properties[count].value.value.bytes = amqp_cstring_bytes(connection_name);
        count++;
    }
    amqp_table_t client_properties = {count, properties};

    // rabbitmq-c merges these into its defaults (product, version, platform, its own
    // capabilities); the tables are only read while the call runs.
    return amqp_login_with_properties(state, vhost, channel_max, frame_max, heartbeat,
                                      &client_properties, AMQP_SASL_METHOD_PLAIN, user, password);
}
