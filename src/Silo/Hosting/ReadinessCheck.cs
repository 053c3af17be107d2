namespace OrleansLlm.Silo.Hosting;

/// <summary>One part of readiness, as <c>/readyz</c> shows it.</summary>
/// <param name="Reason">Why it failed; null when it passed.</param>
public sealed record ReadinessCheck(string Name, bool Ok, string? Reason)
{
    public static ReadinessCheck Pass(string name) => new(name, true, null);

    public static ReadinessCheck Fail(string name, string reason) => new(name, false, reason);
}
