using System.Text.Json;

namespace OrleansLlm.Tests.Infrastructure;

/// <summary>One series of an instant query.</summary>
public sealed record PromSample(IReadOnlyDictionary<string, string> Labels, double Value)
{
    public static PromSample From(JsonElement result) => new(
        result.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!),
        PrometheusServer.ParseValue(result.GetProperty("value")));

    public override string ToString() => $"{{{string.Join(", ", Labels.Select(l => $"{l.Key}=\"{l.Value}\""))}}} {Value}";
}
