namespace OrleansLlm.Tests.Infrastructure;

/// <summary>What the queue's scripts read from a stored envelope.</summary>
public static class Observed
{
    /// <summary>The item's number in a stored envelope (<c>"n"</c>, which the enqueue script gives it).</summary>
    public static string NumberOf(string payload) =>
        System.Text.RegularExpressions.Regex.Match(payload, "^\\{\"olm\":\\{\"b\":\"[^\"]+\",\"n\":(\\d+)").Groups[1].Value;
}
