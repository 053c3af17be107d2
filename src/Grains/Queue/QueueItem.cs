using System.Text;
using System.Text.Json;

namespace OrleansLlm.Queue;

/// <summary>
/// An item read from the queue. Two shapes are accepted: raw objects as Bento's <c>redis_list</c> output pushes them
/// (batch <c>default</c>), and the envelope the batch grain writes: <c>{"olm":{"b":BATCH,"id":ID},"item":{...}}</c>.
/// </summary>
/// <remarks>
/// The envelope always starts with the same bytes, so the Lua scripts can find an item's batch with one
/// <c>string.match</c> instead of decoding JSON. <see cref="EnvelopePrefix"/> and <c>batch_of</c> in
/// <see cref="RedisWorkQueue"/> must agree.
/// </remarks>
public sealed class QueueItem : IDisposable
{
    public const string EnvelopePrefix = "{\"olm\":{\"b\":\"";

    private readonly JsonDocument _document;

    private QueueItem(JsonDocument document, string batchId, string id, JsonElement item)
    {
        _document = document;
        BatchId = batchId;
        Id = id;
        Item = item;
    }

    public string BatchId { get; }

    public string Id { get; }

    /// <summary>The item object itself (inside the envelope, if any).</summary>
    public JsonElement Item { get; }

    public static string Envelope(string batchId, string itemId, string itemJson)
    {
        var sb = new StringBuilder(itemJson.Length + batchId.Length + itemId.Length + 32);
        sb.Append(EnvelopePrefix).Append(batchId).Append("\",\"id\":")
          .Append(JsonSerializer.Serialize(itemId, QueueJsonContext.Default.String))
          .Append("},\"item\":").Append(itemJson).Append('}');
        return sb.ToString();
    }

    /// <summary>The batch of a payload, read the way the Lua scripts' <c>batch_of</c> reads it; works on malformed items too.</summary>
    public static string BatchOf(string payload)
    {
        if (!payload.StartsWith(EnvelopePrefix, StringComparison.Ordinal))
        {
            return BatchIds.Default;
        }

        var rest = payload.AsSpan(EnvelopePrefix.Length);
        var end = rest.IndexOf('"');
        return end > 0 && BatchIds.IsValid(rest[..end].ToString()) ? rest[..end].ToString() : BatchIds.Default;
    }

    /// <returns>Null when the payload is usable, else a reason fit for the dead-letter list.</returns>
    public static string? TryParse(string payload, int maxBytes, out QueueItem? item)
    {
        item = null;
        var bytes = Encoding.UTF8.GetByteCount(payload);
        if (bytes > maxBytes)
        {
            return $"item is {bytes} bytes, over the limit of {maxBytes}";
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(payload);
        }
        catch (JsonException ex)
        {
            return $"not valid JSON: {ex.Message}";
        }

        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            var kind = root.ValueKind.ToString().ToLowerInvariant();
            document.Dispose();
            return $"not a JSON object but {kind}";
        }

        if (payload.StartsWith(EnvelopePrefix, StringComparison.Ordinal))
        {
            var meta = root.GetProperty("olm");
            if (!root.TryGetProperty("item", out var inner) || inner.ValueKind != JsonValueKind.Object
                || !meta.TryGetProperty("id", out var idProp) || idProp.GetString() is not { Length: > 0 } envelopeId)
            {
                document.Dispose();
                return "envelope without an \"item\" object or an \"id\"";
            }

            item = new QueueItem(document, meta.GetProperty("b").GetString()!, envelopeId, inner);
            return null;
        }

        var id = ItemIds.Of(root, payload);
        item = new QueueItem(document, BatchIds.Default, id, root);
        return null;
    }

    public void Dispose() => _document.Dispose();
}
