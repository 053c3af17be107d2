using System.Text;
using System.Text.Json;

namespace OrleansLlm.Webhooks;

/// <summary>
/// An event's body in OpenAI's webhook event shape:
/// <c>{"id":"evt_…","object":"event","created_at":UNIX_S,"type":"batch.completed","data":{"id":"batch_…"}}</c>.
/// </summary>
internal static class WebhookEvent
{
    public static string NewId() => "evt_" + Guid.NewGuid().ToString("N");

    /// <param name="at">When the batch ended: <c>created_at</c>, as OpenAI sets it.</param>
    public static string Body(string id, string type, string batchId, DateTimeOffset at)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("id", id);
            w.WriteString("object", "event");
            w.WriteNumber("created_at", at.ToUnixTimeSeconds());
            w.WriteString("type", type);
            w.WriteStartObject("data");
            w.WriteString("id", batchId);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
