namespace OrleansLlm.Tests.Worker;

/// <param name="Time">Simulated seconds when the answer came.</param>
/// <param name="LimitBefore">The limit in force when it came.</param>
/// <param name="Limit">The limit once the controller had read it.</param>
internal sealed record SyntheticAnswer(double Time, int LimitBefore, int Limit, bool Probe, TimeSpan QueueWait, TimeSpan Service);
