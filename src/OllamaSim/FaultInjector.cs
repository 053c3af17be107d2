namespace OllamaSim;

/// <summary>Holds the current <see cref="FaultOptions"/> and rolls the dice for each request, thread-safely.</summary>
internal sealed class FaultInjector(FaultOptions initial, int? seed)
{
    private readonly Lock _gate = new();
    private readonly Random _random = seed is { } s ? new Random(s) : new Random();
    private FaultOptions _current = initial;

    public FaultOptions Current => Volatile.Read(ref _current);

    public FaultOptions Set(FaultOptions faults)
    {
        faults.Validate();
        Volatile.Write(ref _current, faults);
        return faults;
    }

    public FaultOptions Update(Func<FaultOptions, FaultOptions> change)
    {
        lock (_gate)
        {
            return Set(change(Current));
        }
    }

    /// <summary>Decides the fate of one request. <paramref name="faults"/> is the snapshot the request uses.</summary>
    public FaultDecision Decide(FaultOptions faults, string promptText)
    {
        // Always draw one number per kind so that, with a fixed seed, changing one rate does not
        // reshuffle which requests hit the other faults.
        double unavailable, error, hang, midStream, noDone, schema;
        lock (_gate)
        {
            unavailable = _random.NextDouble();
            error = _random.NextDouble();
            hang = _random.NextDouble();
            midStream = _random.NextDouble();
            noDone = _random.NextDouble();
            schema = _random.NextDouble();
        }

        var violateSchema = schema < faults.SchemaViolationRate;
        if (!string.IsNullOrEmpty(faults.FailPromptContains)
            && promptText.Contains(faults.FailPromptContains, StringComparison.OrdinalIgnoreCase))
        {
            return new FaultDecision(Fault.FailPrompt, violateSchema);
        }

        var fault = unavailable < faults.UnavailableRate ? Fault.Unavailable
            : error < faults.ErrorRate ? Fault.Error
            : hang < faults.HangRate ? Fault.Hang
            : midStream < faults.MidStreamErrorRate ? Fault.MidStream
            : noDone < faults.NoDoneRate ? Fault.NoDone
            : Fault.None;
        return new FaultDecision(fault, violateSchema);
    }
}
