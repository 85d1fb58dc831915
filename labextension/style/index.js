import './base.css';
import './submit-templates.css';
