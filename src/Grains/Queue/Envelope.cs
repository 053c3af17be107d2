using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace OrleansLlm.Queue;

/// <summary>
/// The envelope the batch grain wraps each submitted item in: <c>{"olm":{"b":BATCH,"tp":TRACEPARENT,"id":ID},"item":{...}}</c>.
/// Raw items (pushed straight into Redis, e.g. by Bento) have none and belong to <see cref="BatchIds.Default"/>.
/// <c>tp</c>, the W3C <c>traceparent</c> of the item's trace, is there only when the item was traced. As it is queued,
/// the enqueue script puts the item's number right after the batch: <c>{"olm":{"b":BATCH,"n":NUMBER,...</c>.
/// </summary>
/// <remarks>
/// The envelope always starts with the same bytes, so the Lua scripts find an item's batch and number with one
/// <c>string.match</c> instead of decoding JSON: <c>envelope_of</c> in <c>Scripts/include/common.lua</c> is this type's
/// twin, and both accept exactly the ids <see cref="BatchIds.IsValid"/> accepts (the tests run both on the same cases).
/// </remarks>
public static class Envelope
{
    public const string Prefix = "{\"olm\":{\"b\":\"";

    // Right after the batch id (and the item's number), so both are read without decoding JSON (a traceparent is hex
    // digits and dashes).
    private const string TraceParentField = "\",\"tp\":\"";

    private const string NumberField = ",\"n\":";

    /// <param name="traceParent">The W3C traceparent of the item's trace; left out when null or not a valid one.</param>
    public static string Encode(string batchId, string itemId, string itemJson, string? traceParent = null)
    {
        if (!BatchIds.IsValid(batchId))
        {
            throw new ArgumentException($"'{batchId}' is not a valid batch id.", nameof(batchId));
        }

        var sb = new StringBuilder(itemJson.Length + batchId.Length + itemId.Length + 32);
        sb.Append(Prefix).Append(batchId);
        if (traceParent is not null && ActivityContext.TryParse(traceParent, null, out _))
        {
            sb.Append(TraceParentField).Append(traceParent);
        }

        sb.Append("\",\"id\":")
          .Append(JsonText.Quote(itemId))
          .Append("},\"item\":").Append(itemJson).Append('}');
        return sb.ToString();
    }

    /// <summary>True when the payload is shaped like an envelope, valid or not.</summary>
    public static bool IsEnveloped(string payload) => payload.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>The batch a payload counts for, read the way the Lua scripts read it; works on malformed payloads too.</summary>
    public static string BatchOf(string payload)
    {
        if (!IsEnveloped(payload))
        {
            return BatchIds.Default;
        }

        var rest = payload.AsSpan(Prefix.Length);
        var end = rest.IndexOf('"');
        return end > 0 && BatchIds.IsValid(rest[..end].ToString()) ? rest[..end].ToString() : BatchIds.Default;
    }

    /// <summary>The W3C traceparent an envelope carries, read without decoding JSON; null when it has none.</summary>
    public static string? TraceParentOf(string payload)
    {
        if (!IsEnveloped(payload))
        {
            return null;
        }

        var rest = payload.AsSpan(Prefix.Length);
        var batchEnd = rest.IndexOf('"');
        if (batchEnd <= 0)
        {
            return null;
        }

        // Past the batch id's closing quote, and the number the queue gives each item (Scripts/batch/enqueue.lua).
        rest = rest[(batchEnd + 1)..];
        if (rest.StartsWith(NumberField, StringComparison.Ordinal))
        {
            rest = rest[NumberField.Length..];
            rest = rest[Math.Max(0, rest.IndexOfAnyExceptInRange('0', '9'))..];
        }

        if (!rest.StartsWith(TraceParentField.AsSpan(1), StringComparison.Ordinal))
        {
            return null;
        }

        rest = rest[(TraceParentField.Length - 1)..];
        var end = rest.IndexOf('"');
        return end > 0 ? rest[..end].ToString() : null;
    }

    /// <summary>Reads an envelope's batch, item id and item.</summary>
    /// <returns>Null when it is a usable envelope, else why not.</returns>
    public static string? TryDecode(JsonElement root, out string batchId, out string itemId, out JsonElement item)
    {
        (batchId, itemId, item) = (BatchIds.Default, string.Empty, default);
        if (!root.TryGetProperty("olm", out var meta) || meta.ValueKind != JsonValueKind.Object
            || !meta.TryGetProperty("b", out var b) || b.ValueKind != JsonValueKind.String || !BatchIds.IsValid(b.GetString()))
        {
            return "envelope without a valid batch id";
        }

        if (!meta.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.String || id.GetString() is not { Length: > 0 } idText)
        {
            return "envelope without a string \"id\"";
        }

        if (!root.TryGetProperty("item", out item) || item.ValueKind != JsonValueKind.Object)
        {
            return "envelope without an \"item\" object";
        }

        (batchId, itemId) = (b.GetString()!, idText);
        return null;
    }
}
