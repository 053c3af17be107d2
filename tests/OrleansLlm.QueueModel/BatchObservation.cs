using System.Text.Json;

namespace OrleansLlm.QueueModel;

/// <summary>One batch's keys as read: its hash, its items (id → number), its records, results, dead letters and result order.</summary>
public sealed record BatchObservation(
    Dictionary<string, string> Hash,
    Dictionary<string, string> Items,
    Dictionary<string, string> State,
    Dictionary<string, string> Results,
    List<JsonElement> Dead,
    Dictionary<string, long> Order)
{
    public bool Exists => Hash.ContainsKey("created");

    public long Count(string field) => Hash.TryGetValue(field, out var v) ? long.Parse(v, System.Globalization.CultureInfo.InvariantCulture) : 0;
}
