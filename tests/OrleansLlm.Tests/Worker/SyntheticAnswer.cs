namespace OrleansLlm.Tests.Worker;

/// <param name="Time">Simulated seconds when the answer came.</param>
/// <param name="LimitBefore">The limit in force when it came.</param>
/// <param name="Limit">The limit once the controller had read it.</param>
/// <param name="QueueWait">The wait the answer reported (estimated from a gauge, or none, as its signal allows).</param>
/// <param name="RealWait">Seconds it really waited for a slot.</param>
internal sealed record SyntheticAnswer(double Time, int LimitBefore, int Limit, bool Probe, TimeSpan QueueWait, TimeSpan Service, double RealWait);
