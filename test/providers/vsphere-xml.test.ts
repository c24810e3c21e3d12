import { describe, expect, it } from 'vitest';
import { clusterConfigSpecEx, envelope, hostConnectSpec, parseEnvelope, propertyFilterSpec } from '../../src/providers/vsphere/xml.js';
import { faultError, SslVerifyFaultError } from '../../src/providers/vsphere/errors.js';

const HEAD = '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>';
const TAIL = '</soapenv:Body></soapenv:Envelope>';
const body = (xml: string) => {
  expect(xml.startsWith(HEAD) && xml.endsWith(TAIL)).toBe(true);
  return xml.slice(HEAD.length, -TAIL.length);
};

// The serialized form of every request, pinned: element order is the vim25 XSD sequence order,
// which a real vCenter enforces and the simulator does not.
describe('vim25 request envelopes', () => {
  it('Login', () => {
    expect(body(envelope('Login', { type: 'SessionManager', value: 'SessionManager' }, [['userName', 'u'], ['password', 'p&<']]))).toBe(
      '<Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this><userName>u</userName><password>p&amp;&lt;</password></Login>',
    );
  });

  it('AddHost_Task: HostConnectSpec is hostName, port, sslThumbprint, userName, password, force', () => {
    const spec = hostConnectSpec({ force: false, password: 'pw', userName: 'root', sslThumbprint: 'AA:BB', port: 443, hostName: 'esx-5.lab' } as never);
    expect(body(envelope('AddHost_Task', { type: 'ClusterComputeResource', value: 'domain-c7' }, [['spec', spec], ['asConnected', true]]))).toBe(
      '<AddHost_Task xmlns="urn:vim25"><_this type="ClusterComputeResource">domain-c7</_this><spec><hostName>esx-5.lab</hostName><port>443</port><sslThumbprint>AA:BB</sslThumbprint><userName>root</userName><password>pw</password><force>false</force></spec><asConnected>true</asConnected></AddHost_Task>',
    );
  });

  it('ReconfigureComputeResource_Task: dasConfig is enabled, failoverLevel, admissionControlPolicy, admissionControlEnabled', () => {
    const spec = clusterConfigSpecEx({
      drsConfig: { defaultVmBehavior: 'fullyAutomated', enabled: true },
      dasConfig: { admissionControlEnabled: true, admissionControlPolicy: { type: 'ClusterFailoverResourcesAdmissionControlPolicy', autoComputePercentages: false, failoverLevel: 1, memoryFailoverResourcesPercent: 20, cpuFailoverResourcesPercent: 20 }, failoverLevel: 1, enabled: true },
    });
    expect(body(envelope('ReconfigureComputeResource_Task', { type: 'ClusterComputeResource', value: 'domain-c7' }, [['spec', spec], ['modify', true]]))).toBe(
      '<ReconfigureComputeResource_Task xmlns="urn:vim25"><_this type="ClusterComputeResource">domain-c7</_this><spec xsi:type="ClusterConfigSpecEx"><dasConfig><enabled>true</enabled><failoverLevel>1</failoverLevel><admissionControlPolicy xsi:type="ClusterFailoverResourcesAdmissionControlPolicy"><cpuFailoverResourcesPercent>20</cpuFailoverResourcesPercent><memoryFailoverResourcesPercent>20</memoryFailoverResourcesPercent><failoverLevel>1</failoverLevel><autoComputePercentages>false</autoComputePercentages></admissionControlPolicy><admissionControlEnabled>true</admissionControlEnabled></dasConfig><drsConfig><enabled>true</enabled><defaultVmBehavior>fullyAutomated</defaultVmBehavior></drsConfig></spec><modify>true</modify></ReconfigureComputeResource_Task>',
    );
  });

  it('CreateClusterEx with a slot policy; EnterMaintenanceMode_Task', () => {
    expect(body(envelope('CreateClusterEx', { type: 'Folder', value: 'group-h4' }, [['name', 'C2'], ['spec', clusterConfigSpecEx({ dasConfig: { enabled: true, admissionControlPolicy: { type: 'ClusterFailoverLevelAdmissionControlPolicy', failoverLevel: 1 } } })]]))).toBe(
      '<CreateClusterEx xmlns="urn:vim25"><_this type="Folder">group-h4</_this><name>C2</name><spec xsi:type="ClusterConfigSpecEx"><dasConfig><enabled>true</enabled><admissionControlPolicy xsi:type="ClusterFailoverLevelAdmissionControlPolicy"><failoverLevel>1</failoverLevel></admissionControlPolicy></dasConfig></spec></CreateClusterEx>',
    );
    expect(body(envelope('EnterMaintenanceMode_Task', { type: 'HostSystem', value: 'host-9' }, [['timeout', 0], ['evacuatePoweredOffVms', false]]))).toBe(
      '<EnterMaintenanceMode_Task xmlns="urn:vim25"><_this type="HostSystem">host-9</_this><timeout>0</timeout><evacuatePoweredOffVms>false</evacuatePoweredOffVms></EnterMaintenanceMode_Task>',
    );
  });

  it('RetrievePropertiesEx: propSet (type, pathSet), objectSet (obj, skip, selectSet TraversalSpecs)', () => {
    const spec = propertyFilterSpec({ types: [{ type: 'HostSystem', paths: ['name', 'runtime.connectionState'] }], from: { type: 'Folder', value: 'group-d1' }, skip: true, traversals: [{ name: 'f', type: 'Folder', path: 'childEntity', next: ['f'] }] });
    expect(body(envelope('RetrievePropertiesEx', { type: 'PropertyCollector', value: 'propertyCollector' }, [['specSet', spec], ['options', {}]]))).toBe(
      '<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>HostSystem</type><pathSet>name</pathSet><pathSet>runtime.connectionState</pathSet></propSet><objectSet><obj type="Folder">group-d1</obj><skip>true</skip><selectSet xsi:type="TraversalSpec"><name>f</name><type>Folder</type><path>childEntity</path><skip>false</skip><selectSet><name>f</name></selectSet></selectSet></objectSet></specSet><options></options></RetrievePropertiesEx>',
    );
  });
});

describe('vim25 faults', () => {
  it('become typed errors an operator can act on; SSLVerifyFault carries the thumbprint', () => {
    const xml = '<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>Authenticity of the host\'s SSL certificate is not verified.</faultstring><detail><SSLVerifyFaultFault xmlns="urn:vim25" xsi:type="SSLVerifyFault"><selfSigned>true</selfSigned><thumbprint>8F:B3:6C</thumbprint></SSLVerifyFaultFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>';
    const p = parseEnvelope('AddHost_Task', xml);
    expect(p.fault?.type).toBe('SSLVerifyFault');
    const err = faultError(p.fault!.type, p.fault!.message, p.fault!.detail, { host: 'esx-5.lab' });
    expect(err).toBeInstanceOf(SslVerifyFaultError);
    expect((err as SslVerifyFaultError).thumbprint).toBe('8F:B3:6C');
    expect(err.message).toContain('--host esx-5.lab=8F:B3:6C');
    expect(faultError('InvalidLogin', 'Cannot complete login', {}).message).toMatch(/check vcenter.user and vcenter.password/);
    expect(faultError('DuplicateName', '', {}, { name: 'C2' }).name).toBe('DuplicateName');
  });
});
